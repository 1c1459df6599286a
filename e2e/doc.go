// Package e2e tests the uberservice binary from the outside, as an operator
// and a client would meet it: it builds cmd/uberservice, runs it as a child
// process against a fresh Postgres database and talks to it over HTTP only.
package e2e
