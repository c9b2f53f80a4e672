// Federated layer
