// Package e2e tests the uberservice binary from the outside, as an operator
// and a client would meet it: it builds cmd/uberservice, runs it as child
// processes against a fresh Postgres database and talks to them over HTTP only.
// It starts, stops, kills and restarts them with internal/cluster, the
// launcher the benchmarks use too.
//
// TestTopologies runs the whole suite (the accounts/IM story, the shop, their
// concurrency checks) in each deployment the binary supports: one process on
// the in-process bus; one process per module on NATS JetStream, and on
// RabbitMQ; two processes on the Postgres bus. The modules are the binary's
// own (uberservice modules --format json), whatever they are. In the split
// ones it also kills processes under load (kill -9) and stops im for a while;
// TestBrokerOutage kills a NATS server of its own under load. After each
// fault, every event must have had its effect exactly once.
package e2e
