// Report layer
