package warehouse

// Service is the module's service as the tests of its rules call it: the
// very one behind the module's local gateway (apptest.Local).
type Service = service
