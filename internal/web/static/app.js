// Parley web client
