package identity

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Client returns an HTTP client that reaches the development issuer in the
// process: it serves requests to DevelopmentIssuer from Handler, with no
// network, and refuses every other. With it, a Verifier of the development
// issuer runs exactly as one of a real provider does: discovery, keys,
// verification.
func (iss *Issuer) Client() *http.Client {
	host, _ := url.Parse(DevelopmentIssuer)
	return &http.Client{Transport: inProcess{origin: host, handler: iss.Handler()}}
}

// inProcess is an http.RoundTripper that answers the requests to origin
// with handler.
type inProcess struct {
	origin  *url.URL
	handler http.Handler
}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	if req.URL.Scheme != t.origin.Scheme || req.URL.Host != t.origin.Host {
		return nil, fmt.Errorf("identity: the development issuer's client reaches %s alone, not %s://%s", t.origin, req.URL.Scheme, req.URL.Host)
	}
	w := &recorder{header: http.Header{}}
	t.handler.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(&w.body),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
