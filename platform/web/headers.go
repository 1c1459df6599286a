package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// The platform's limits on a request's head, under Go's own (GoHeaderLimit),
// so that a client over them gets a problem+json, not Go's text/plain:
//
//   - HeaderFieldLimit: one header field, its name and value;
//   - HeaderLimit: all header fields together (Host included), counted as sent,
//     with ": " and the line end;
//   - URILimit: the request target, path and query.
//
// A request over a header limit is 431, one over the URI limit is 414. What Go
// refuses before any handler runs stays as Go writes it, text/plain, and is
// not logged: a request line and headers together past GoHeaderLimit (431), a
// malformed request line or header, a missing Host, a bad Content-Length
// (400), an unsupported Transfer-Encoding (501), an unsupported HTTP version
// (505); and an Expect other than 100-continue is a 417 with no body at all.
const (
	HeaderFieldLimit = 8 << 10
	HeaderLimit      = 16 << 10
	URILimit         = 8 << 10
)

var (
	errHeadersTooLarge = problem.New(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "The request headers are too large")
	errURITooLong      = problem.New(http.StatusRequestURITooLong, "uri_too_long", "The request URI is too long").
				WithDetail("the limit is %d KiB", URILimit>>10)
)

// limitHeaders refuses a request over HeaderFieldLimit, HeaderLimit or
// URILimit.
func limitHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if len(req.RequestURI) > URILimit {
			return errURITooLong
		}
		total := len("Host: \r\n") + len(req.Host)
		for name, values := range req.Header {
			for _, v := range values {
				field := len(name) + len(": ") + len(v)
				if field > HeaderFieldLimit {
					return errHeadersTooLarge.WithDetail("the header %.64s is over the limit of %d KiB", name, HeaderFieldLimit>>10)
				}
				total += field + len("\r\n")
			}
		}
		if total > HeaderLimit {
			return errHeadersTooLarge.WithDetail("the headers together are over the limit of %d KiB", HeaderLimit>>10)
		}
		return next(c)
	}
}
