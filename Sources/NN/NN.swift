// NN layer
