// Imaging layer
