package contract

import "reflect"

// Description is one method of a gateway as its table declares it: what the
// generated documentation of the modules lists (`uberservice modules
// --format markdown`).
type Description struct {
	// Name is the method's name in the gateway's interface.
	Name string
	// Route is "METHOD /path".
	Route string
	// Retry says when a call is safe to send again.
	Retry Retry
	// In and Out are the types of the method's input and answer, from which
	// `uberservice contracts` writes its request and response schemas.
	In, Out reflect.Type
	// Param names the path parameter that carries In (a uuid.UUID); "" when
	// In travels as the JSON body.
	Param string
	// NoContent says the method answers 204 with no body (an Action): Out
	// is then struct{} and nothing of it crosses the wire.
	NoContent bool
}

// Retry says when a call of a method is safe to send again after a failure
// that leaves unknown whether the first one took effect.
type Retry string

const (
	// RetryNever: a call is sent once (no Idempotent).
	RetryNever Retry = "never"
	// RetryAlways: every call may be sent again (Idempotent).
	RetryAlways Retry = "always"
	// RetryIfInput: a call may be sent again when its input says so
	// (IdempotentIf).
	RetryIfInput Retry = "when its input allows"
)

// Methods describes the gateway's methods, in the table's order.
func (g Gateway[T]) Methods() []Description {
	out := make([]Description, len(g.methods))
	for i, m := range g.methods {
		out[i] = m.describe()
	}
	return out
}

func (m M[T, In, Out]) describe() Description {
	return Description{Name: m.name, Route: m.route(), Retry: m.retry,
		In: reflect.TypeFor[In](), Out: reflect.TypeFor[Out](), Param: m.param, NoContent: m.noContent}
}
