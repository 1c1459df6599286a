package contract

import "github.com/uberservice/uberservice/platform/httpclient"

// ErrBadGateway is the error of a call whose peer answered something that is
// not the contract's answer (package httpclient decodes strictly): a caller
// passes it on as 502 bad_gateway, as the dependency's fault, not its own 500.
var ErrBadGateway = httpclient.ErrBadGateway
