// Package contracts holds no code. Its folder holds the contracts of the
// binary's modules as JSON Schemas: the payload of every event topic
// (events/) and the request and response of every gateway method
// (gateways/), written by `uberservice contracts` (`make contracts`) from
// the Go types. Its test fails when they are not what the code generates
// now, saying whether the difference breaks the other side of a contract
// (see package compat).
package contracts
