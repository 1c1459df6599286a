// Package apptest starts modules for real in tests: on free ports, against a
// fresh Postgres database that is dropped afterwards, on an in-process bus the
// test can publish on. There is no skipping: a test that needs Postgres fails
// when it cannot reach it.
//
// A System is the world a module's component tests run in: its URL, its
// local gateway (Local) and the same gateway over HTTP (Remote), events
// published as their producer would (Publish, Deliver), the dead letters, and
// the module's schema for checks no API offers.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
)

// AdminURL is the server the test databases are created on:
// UBERSERVICE_TEST_DATABASE_URL, or the local Postgres.
func AdminURL() string {
	if u := os.Getenv("UBERSERVICE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// FreshDatabase creates an empty database for t and drops it when t ends.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("apptest: Postgres is required and unreachable at %s (set UBERSERVICE_TEST_DATABASE_URL): %v", admin, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "uberservice_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("apptest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("apptest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("apptest: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("apptest: parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}

// System is a started set of modules under test.
type System struct {
	*app.System
	Mail *mail.Recorder
	DB   string // the database URL
}

// Start starts modules (chosen by cfg.Modules, default all) on free ports
// against a fresh database, with migrations applied and fast retries, and stops
// them when t ends. Fields set in cfg are kept.
//
// Unless cfg names a bus, the system runs on an in-process bus of the test's
// own, which the runtime trusts to reach every consumer: so a consumer starts
// without the module that produces its events, and the test plays that
// producer with Publish.
func Start(t testing.TB, all []app.Module, cfg app.Config) *System {
	t.Helper()
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = FreshDatabase(t)
	}
	if cfg.Bus == nil && cfg.BusURL == "" {
		bus := messaging.NewInProcess(Logger(t))
		t.Cleanup(func() { _ = bus.Close() }) // after the system stops: cleanups run last-in first-out
		cfg.Bus = bus
	}
	rec := mail.NewRecorder(slog.New(slog.DiscardHandler))
	if cfg.Mail == nil {
		cfg.Mail = rec
	}
	if cfg.Log == nil {
		cfg.Log = Logger(t)
	}
	cfg.Migrate = true
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 4 // many systems run at once against one Postgres
	}
	if cfg.Retry == (messaging.RetryPolicy{}) {
		cfg.Retry = messaging.RetryPolicy{MaxAttempts: 3, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	}
	if cfg.Listen == nil {
		cfg.Listen = map[string]string{}
	}
	for _, m := range all {
		if _, ok := cfg.Listen[m.Name]; !ok {
			cfg.Listen[m.Name] = "127.0.0.1:0"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sys, err := app.Start(ctx, all, cfg)
	if err != nil {
		t.Fatalf("apptest: start modules: %v", err)
	}
	t.Cleanup(func() {
		if err := sys.Stop(context.Background()); err != nil {
			t.Errorf("apptest: stop: %v", err)
		}
	})
	return &System{System: sys, Mail: rec, DB: cfg.DatabaseURL}
}

// URL is the base URL of module in s.
func (s *System) URL(module string) string { return "http://" + s.Addr(module) }

// Local is the in-process implementation of g in s; g's module must run in s.
func Local[T any](t testing.TB, s *System, g contract.Gateway[T]) T {
	t.Helper()
	impl, ok := s.System.Local(g.Name())
	if !ok {
		t.Fatalf("apptest: module %s provides no local gateway in this system", g.Name())
	}
	local, ok := impl.(T)
	if !ok {
		t.Fatalf("apptest: the local %s gateway is a %T", g.Name(), impl)
	}
	return local
}

// Remote is g as a module elsewhere reaches it: its HTTP client, talking to
// the server binding of g's module in s.
func Remote[T any](s *System, g contract.Gateway[T], opts httpclient.Options) T {
	return g.Client(httpclient.New(s.URL(g.Name()), opts))
}

// EachImplementation runs test as a subtest against g's local implementation
// ("local") and against its HTTP client talking to the module's real server
// binding ("http"): a gateway's contract suite must pass both ways alike.
func EachImplementation[T any](t *testing.T, s *System, g contract.Gateway[T], test func(t *testing.T, impl T)) {
	t.Helper()
	local, remote := Local(t, s, g), Remote(s, g, httpclient.Options{})
	t.Run("local", func(t *testing.T) { test(t, local) })
	t.Run("http", func(t *testing.T) { test(t, remote) })
}

// Publish puts e on the bus under a new message id, as its producer's relay
// would, and returns the id. On the in-process bus it returns once every
// consumer has committed or recorded its failure, so the effect can be
// checked right after.
func (s *System) Publish(t testing.TB, e messaging.Event) string {
	t.Helper()
	payload, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("apptest: encode %s: %v", e.Topic(), err)
	}
	id := uuid.NewString()
	s.Deliver(t, e.Topic(), id, payload)
	return id
}

// Deliver puts a message on the bus as it is given: the same id again (a
// redelivery), or a payload no producer would send.
func (s *System) Deliver(t testing.TB, topic, messageID string, payload []byte) {
	t.Helper()
	producer, _, _ := strings.Cut(topic, ".")
	msg := message.NewMessage(messageID, payload)
	msg.Metadata.Set(messaging.MetaProducer, producer)
	msg.Metadata.Set(messaging.MetaOccurredAt, time.Now().UTC().Format(time.RFC3339Nano))
	if err := s.Bus().Publisher().Publish(topic, msg); err != nil {
		t.Fatalf("apptest: publish %s: %v", topic, err)
	}
}

// DeadLetter is a failed message as GET /ops/dead-letters answers it.
type DeadLetter struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
	Handler   string `json:"handler"`
	Topic     string `json:"topic"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// DeadLetters lists the failed messages of module through its ops API.
func (s *System) DeadLetters(t testing.TB, module string) []DeadLetter {
	t.Helper()
	var list struct {
		Items []DeadLetter `json:"items"`
	}
	r := Do(t, http.MethodGet, s.URL(module)+"/ops/dead-letters", nil).Expect(t, http.StatusOK)
	r.Decode(t, &list)
	if list.Items == nil {
		t.Fatalf("apptest: dead letters of %s: items is not a list: %s", module, r.Body)
	}
	return list.Items
}

// DeadLetter returns module's dead letter of messageID, or the zero value
// when there is none.
func (s *System) DeadLetter(t testing.TB, module, messageID string) DeadLetter {
	t.Helper()
	for _, dl := range s.DeadLetters(t, module) {
		if dl.MessageID == messageID {
			return dl
		}
	}
	return DeadLetter{}
}

// Schema opens module's schema in s's database, for checks no API offers.
// It is closed when t ends.
func (s *System) Schema(t testing.TB, module string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), s.DB, module, database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatalf("apptest: open the %s schema: %v", module, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Logger returns a logger that writes to the test's log, at warning level
// unless UBERSERVICE_TEST_LOG=debug.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("UBERSERVICE_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(correlation.Handler(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is an HTTP answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (or fails the test).
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("apptest: body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v (or fails the test).
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("apptest: decode body: %v: %s", err, r.Body)
	}
}

// Do sends a request. body may be nil, a string or []byte sent as is, or any
// value sent as JSON. headers are pairs of name and value.
func Do(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("apptest: encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("apptest: build request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("apptest: read %s %s: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Eventually polls cond every 20ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("apptest: %s did not happen within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Expect fails the test unless r has the wanted status.
func (r Response) Expect(t testing.TB, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("apptest: status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// ExpectProblem fails the test unless r is a problem+json with status and,
// when code is not empty, that code.
func (r Response) ExpectProblem(t testing.TB, status int, code string) map[string]any {
	t.Helper()
	r.Expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("apptest: content type %q, want application/problem+json: %s", ct, r.Body)
	}
	m := r.JSON(t)
	if code != "" && m["code"] != code {
		t.Fatalf("apptest: problem code %v, want %s: %s", m["code"], code, r.Body)
	}
	if fmt.Sprint(m["status"]) != fmt.Sprint(status) {
		t.Fatalf("apptest: problem status field %v, want %d", m["status"], status)
	}
	return m
}
