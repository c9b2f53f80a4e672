// Metrics layer
