package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/web"
)

// These benchmarks price a gateway call that crosses HTTP against the same call
// made in process, without a database: the codec alone, then one whole call
// through the real Client and the real server binding (Mount on the server
// every module gets from web.New) in front of an in-memory implementation.
// What is left of a real call, the module's SQL, is the same either way.

// Values of the size the shop sends: a real account, a debit for an order.
var (
	benchAccount = accounts.Account{
		ID: uuid.MustParse("0195f0a0-1111-7000-8000-000000000001"), Owner: "bob", OwnerName: "Bob Buyer",
		Email: "bob@example.com", Currency: "EUR", Balance: 1_250_00, Status: "active",
		ReferralCode: "ALICE2024", CreatedAt: time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC),
	}
	benchMovement = accounts.Movement{
		AccountID: benchAccount.ID, Amount: 79_98, Currency: "EUR",
		Reference: "order-0195f0a0-2222-7000-8000-000000000002",
	}
	benchTransaction = accounts.Transaction{
		ID: uuid.MustParse("0195f0a0-3333-7000-8000-000000000003"), AccountID: benchAccount.ID,
		Kind: accounts.KindDebit, Amount: benchMovement.Amount, BalanceAfter: benchAccount.Balance - benchMovement.Amount,
		Reference: benchMovement.Reference, CreatedAt: benchAccount.CreatedAt.Add(time.Hour),
	}
	benchProblem = accounts.ErrInsufficientFunds.WithDetail("the balance is %d, the debit %d", 50_00, benchMovement.Amount)
)

// BenchmarkCodec encodes and decodes the DTOs that cross the gateway most, with
// the calls each side makes: the server binding decodes requests with web.Bind
// and encodes answers with Echo's c.JSON; the client (httpclient.Call) encodes
// requests with json.Marshal and decodes answers with json.Unmarshal.
func BenchmarkCodec(b *testing.B) {
	b.Run("Account/server-encode", func(b *testing.B) { benchServerEncode(b, benchAccount) })
	b.Run("Account/client-decode", func(b *testing.B) { benchClientDecode[accounts.Account](b, benchAccount) })
	b.Run("Movement/client-encode", func(b *testing.B) { benchClientEncode(b, benchMovement) })
	b.Run("Movement/server-decode", func(b *testing.B) { benchServerDecode[accounts.Movement](b, benchMovement) })
	b.Run("Transaction/server-encode", func(b *testing.B) { benchServerEncode(b, benchTransaction) })
	b.Run("Transaction/client-decode", func(b *testing.B) { benchClientDecode[accounts.Transaction](b, benchTransaction) })
}

// BenchmarkProblem writes a gateway error as problem+json, as the server's
// error handler does (web.WriteProblem), and decodes it back into the error
// value a caller tests with errors.Is, as the client does for a non-2xx answer.
func BenchmarkProblem(b *testing.B) {
	b.Run("server-encode", func(b *testing.B) {
		c, w := benchContext(b, nil)
		b.ReportAllocs()
		for b.Loop() {
			c.Reset(c.Request(), w)
			if err := web.WriteProblem(c, benchProblem); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client-decode", func(b *testing.B) {
		data, err := json.Marshal(benchProblem)
		if err != nil {
			b.Fatal(err)
		}
		header := http.Header{"Content-Type": {problem.ContentType}}
		b.ReportAllocs()
		for b.Loop() {
			// The steps of httpclient's answer handling for a problem document.
			var p problem.Problem
			if !strings.HasPrefix(header.Get("Content-Type"), problem.ContentType) || json.Unmarshal(data, &p) != nil || p.Code == "" {
				b.Fatal("not decoded as a problem")
			}
			var err error = &p
			if !errors.Is(err, accounts.ErrInsufficientFunds) {
				b.Fatalf("decoded %v, want %v", err, accounts.ErrInsufficientFunds)
			}
		}
	})
}

// BenchmarkRoundTrip makes one gateway call three ways: on the implementation
// itself, as a co-located module does ("local"); through the HTTP Client and the
// server binding with a Transport that hands the request to the Echo server in
// the same goroutine ("in-memory": JSON, headers, routing, middleware and the
// client's breaker, but no socket); and through a real server on loopback ("loopback":
// HTTP/1.1 over a kept-alive TCP connection, as between two pods minus the
// network). The ratio of the last two to the first is the price of splitting a
// module out, before any network latency.
func BenchmarkRoundTrip(b *testing.B) {
	impl := &memAccounts{accounts: map[uuid.UUID]accounts.Account{benchAccount.ID: benchAccount}}
	e := web.New(accounts.Name, slog.New(slog.DiscardHandler))
	accounts.Gateway.Mount(e, impl)
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	opts := httpclient.Options{Log: slog.New(slog.DiscardHandler)} // the defaults a peer gets, breaker included
	inMemory := opts
	inMemory.Transport = handlerTransport{e}
	ways := []struct {
		name string
		impl accounts.Accounts
	}{
		{"local", impl},
		{"in-memory", accounts.Gateway.Client(httpclient.New("http://accounts.invalid", inMemory))},
		{"loopback", accounts.Gateway.Client(httpclient.New(srv.URL, opts))},
	}
	// A request's context, as a handler calling the gateway has: the correlation
	// id and trace context travel as headers.
	ctx := tracing.Extract(correlation.With(context.Background(), "req-bench"),
		map[string]string{tracing.MetadataKey: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	unknown := uuid.MustParse("0195f0a0-9999-7000-8000-000000000009")

	for _, w := range ways {
		b.Run("Get/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a, err := w.impl.Get(ctx, benchAccount.ID)
				if err != nil || a.ID != benchAccount.ID {
					b.Fatalf("Get = %+v, %v", a, err)
				}
			}
		})
	}
	for _, w := range ways {
		b.Run("Debit/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tx, err := w.impl.Debit(ctx, benchMovement)
				if err != nil || tx.BalanceAfter != benchTransaction.BalanceAfter {
					b.Fatalf("Debit = %+v, %v", tx, err)
				}
			}
		})
	}
	for _, w := range ways {
		b.Run("GetNotFound/"+w.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.impl.Get(ctx, unknown); !errors.Is(err, accounts.ErrAccountNotFound) {
					b.Fatalf("Get of an unknown id: %v, want %v", err, accounts.ErrAccountNotFound)
				}
			}
		})
	}
}

// memAccounts answers from memory at once, so that a round trip measures the
// crossing and nothing behind it. Its movements are fixed answers, not ledger
// entries: a benchmark debits the same account millions of times.
type memAccounts struct {
	mu       sync.RWMutex
	accounts map[uuid.UUID]accounts.Account
}

func (m *memAccounts) Get(_ context.Context, id uuid.UUID) (accounts.Account, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.accounts[id]
	if !ok {
		return accounts.Account{}, accounts.ErrAccountNotFound
	}
	return a, nil
}

func (m *memAccounts) GetMany(ctx context.Context, ids []uuid.UUID) ([]accounts.Account, error) {
	out := make([]accounts.Account, 0, len(ids))
	for _, id := range ids {
		if a, err := m.Get(ctx, id); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memAccounts) Debit(ctx context.Context, req accounts.Movement) (accounts.Transaction, error) {
	return m.move(ctx, accounts.KindDebit, -req.Amount, req)
}

func (m *memAccounts) Credit(ctx context.Context, req accounts.Movement) (accounts.Transaction, error) {
	return m.move(ctx, accounts.KindCredit, req.Amount, req)
}

func (m *memAccounts) move(ctx context.Context, kind string, delta int64, req accounts.Movement) (accounts.Transaction, error) {
	a, err := m.Get(ctx, req.AccountID)
	switch {
	case err != nil:
		return accounts.Transaction{}, err
	case req.Currency != a.Currency:
		return accounts.Transaction{}, accounts.ErrCurrencyMismatch
	case a.Balance+delta < 0:
		return accounts.Transaction{}, accounts.ErrInsufficientFunds
	}
	return accounts.Transaction{
		ID: benchTransaction.ID, AccountID: a.ID, Kind: kind, Amount: req.Amount,
		BalanceAfter: a.Balance + delta, Reference: req.Reference, CreatedAt: benchTransaction.CreatedAt,
	}, nil
}

// handlerTransport serves each request with the Echo server in the caller's
// goroutine: a round trip through the server binding without a socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close() // a RoundTripper closes the body, as a real one does
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// benchContext is an Echo context on the server the binding is mounted on,
// with a request carrying body (when not nil) as JSON and a response that is
// thrown away.
func benchContext(b *testing.B, body []byte) (echo.Context, http.ResponseWriter) {
	b.Helper()
	e := web.New(accounts.Name, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest(http.MethodPost, "/gateway/accounts/v1/debits", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w := discardWriter{http.Header{}}
	return e.NewContext(req, w), w
}

// discardWriter is a ResponseWriter that keeps nothing, so an encode costs
// only the encoding.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// benchServerEncode writes v as the binding's handlers do, with c.JSON.
func benchServerEncode(b *testing.B, v any) {
	c, w := benchContext(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset(c.Request(), w)
		if err := c.JSON(http.StatusOK, v); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServerDecode reads a request body into a T as the binding's handlers
// do, with web.Bind.
func benchServerDecode[T any](b *testing.B, v T) {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.NewReader(data)
	c, _ := benchContext(b, nil)
	c.Request().Body = io.NopCloser(body)
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(data)
		var got T
		if err := web.Bind(c, &got); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClientEncode encodes a request body as httpclient.Call does.
func benchClientEncode(b *testing.B, v any) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClientDecode decodes an answer into a T as httpclient.Call does.
func benchClientDecode[T any](b *testing.B, v T) {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var got T
		if err := json.Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
	}
}
