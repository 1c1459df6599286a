package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// BodyLimit is the largest request body any module accepts: 64 KiB.
const BodyLimit = 64 << 10

// A body over BodyLimit is answered 413 and the connection closed. Closing a
// socket with unread data in it makes the kernel send a reset, and a client
// that sends its whole body before reading (Python's urllib does) gets the
// reset, not the 413, once its body outgrows what the socket buffers hold
// (Go's own server reads only 256 KiB of an unread body). So after the 413 is
// written and flushed, the server reads and throws away the rest of the body,
// up to DrainLimit bytes within DrainTimeout, then closes cleanly. A body
// declared longer than DrainLimit is not read at all, and one that goes on
// past it is cut off: such a client may see the reset.
const (
	DrainLimit   = 16 << 20
	DrainTimeout = 10 * time.Second
)

var errTooLarge = problem.ErrTooLarge.WithDetail("the limit is %d KiB", BodyLimit>>10)

// limitBody refuses a body over BodyLimit with 413: at once when its
// Content-Length says so, when the handler reads past the limit otherwise.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > BodyLimit {
			refuseBody(c, req.Body, req.ContentLength)
			return nil
		}
		if req.Body == nil || req.Body == http.NoBody {
			return next(c)
		}
		body := &limitedBody{r: req.Body, left: BodyLimit}
		req.Body = body
		err := next(c)
		if !body.over {
			return err
		}
		refuseBody(c, body.r, -1)
		return nil
	}
}

// refuseBody answers 413, closing the connection, and drains body (of
// declared length, -1 when unknown) within the bounds above.
func refuseBody(c echo.Context, body io.Reader, declared int64) {
	res := c.Response()
	if !res.Committed {
		res.Header().Set(echo.HeaderConnection, "close")
		c.Error(errTooLarge)
	}
	rc := http.NewResponseController(res.Writer)
	_ = rc.Flush() // the client has its answer before the server reads on
	if declared > DrainLimit || body == nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(DrainTimeout))
	_, _ = io.CopyN(io.Discard, body, DrainLimit)
}

// limitedBody reads up to left bytes, then fails with errTooLarge.
type limitedBody struct {
	r    io.ReadCloser
	left int64
	over bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed tells a body over the limit
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		b.over = true
		return int(b.left), errTooLarge
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }

// isTooLarge reports whether err is the body limit tripping while reading.
func isTooLarge(err error) bool { return errors.Is(err, errTooLarge) }
