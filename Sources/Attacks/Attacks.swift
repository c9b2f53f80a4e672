// Attacks layer
