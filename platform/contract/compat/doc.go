// Package compat keeps a binary's contracts as JSON Schemas and tells a
// change that breaks their other side from one that does not.
//
// The contracts are what crosses a module's boundary: the payload of every
// event topic, and the request and response of every gateway method. Their
// schemas are generated from the Go types (github.com/invopop/jsonschema),
// committed in a folder (`uberservice contracts`, `make contracts`), and a
// test compares the committed folder with what the code generates now, so
// that a contract cannot change without someone seeing it:
//
//   - a breaking change fails with the list of what breaks, and the fix:
//     a new version of the contract (a topic ".v2", a route "/v2/") served
//     beside the old one, which stays until nobody uses it;
//   - an additive change fails too, asking for `make contracts`, so that
//     the snapshot is the contract the next change is held to.
//
// # Required
//
// A field is required unless its json tag says omitempty or omitzero:
// invopop's default, kept because it is what encoding/json does. A field
// without either is always written, so its reader may rely on it being
// there; one with either may be left out. The jsonschema tags are not
// read for it (RequiredFromJSONSchemaTags is off): the json tag is the
// wire, and a second declaration could contradict it.
//
// # Direction
//
// Whether a change breaks depends on who reads what the other side wrote:
//
//   - a request is written by callers and read by the provider, which
//     refuses unknown members (web.Bind). A removed field breaks old
//     callers that still send it; a new required field (or one made
//     required) breaks old callers that do not send it.
//   - a response is written by the provider and read by the caller that
//     asked. A removed field, or one whose type changed, breaks callers
//     that read it; a new field breaks nobody.
//   - an event is written by its publisher and read by its consumers, and
//     it outlives its publisher's version: in the outbox, in the broker and
//     among the dead letters, and from a publisher not yet upgraded. So a
//     removed or retyped field breaks consumers that read it, and a new
//     required field breaks consumers that would rely on it, which meet
//     events written without it.
//
// A removed topic or method (its route gone) breaks whoever still uses it.
// A new topic or route is a new contract: that is how a breaking change is
// made safely, the old version staying until its users have moved.
package compat
