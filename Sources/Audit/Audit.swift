// Audit layer
