// Command handwritten is the benchmarks' baseline for a deposit: the
// smallest server a person would write by hand to take
// POST /v1/accounts/{id}/deposits, with net/http and a pgx pool, and
// nothing else. It is not part of the product; bench builds it and runs it
// beside uberservice, on a database that `uberservice migrate` made, so
// that the tables, their indexes and their triggers are the same.
//
// It sends Postgres what uberservice's deposit sent before it batched its
// statements, one round trip per statement, in the same order
// (modules/accounts: movements.go and store.go; platform/messaging/outbox.go;
// platform/mail/mail.go); uberservice now checks the owner in its UPDATE,
// sends the outbox and email INSERTs with its COMMIT and commits the
// deposits that arrive together as a group, in fewer round trips:
//
//	SELECT owner FROM accounts WHERE id = $1     the account exists (and whose it is)
//	BEGIN
//	WITH moved AS (UPDATE accounts …), ledger AS (INSERT INTO transactions …) SELECT …
//	INSERT INTO outbox …                         accounts.funds_deposited.v2
//	INSERT INTO notifications …                  the owner's confirmation email
//	COMMIT
//
// and answers 201 with the transaction. What it leaves out is the point of
// the comparison: no authentication, no idempotency keys, no logging,
// metrics, tracing or correlation ids, no relay that delivers the events and
// no dispatcher that sends the emails (the rows stay where they are).
//
//	handwritten -addr 127.0.0.1:8080 -database-url "$DATABASE_URL" -pool-size 10
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dbURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "a database `uberservice migrate` made")
	poolSize := flag.Int("pool-size", 10, "connections in the pool (uberservice's --db-pool-size)")
	flag.Parse()
	if err := run(*addr, *dbURL, *poolSize); err != nil {
		log.Fatalf("handwritten: %v", err)
	}
}

func run(addr, dbURL string, poolSize int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := open(ctx, dbURL, poolSize)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/accounts/{id}/deposits", &deposits{pool: pool})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// open connects a pool of size connections to the accounts schema, as a
// module's pool does (search_path), and checks that it answers.
func open(ctx context.Context, dbURL string, size int) (*pgxpool.Pool, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", "accounts")
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = int32(size), int32(size)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return pool, nil
}

type deposits struct{ pool *pgxpool.Pool }

// transaction is the ledger entry the deposit answers with.
type transaction struct {
	ID           uuid.UUID `json:"id"`
	AccountID    uuid.UUID `json:"account_id"`
	Kind         string    `json:"kind"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	CreatedAt    time.Time `json:"created_at"`
}

// maxAmount is uberservice's bound on one movement (accounts.MaxAmount).
const maxAmount = 1_000_000_000_000_000

func (d *deposits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		fail(w, http.StatusNotFound, "no such account")
		return
	}
	var req struct {
		Amount int64 `json:"amount"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "the body is not a JSON deposit")
		return
	}
	if req.Amount <= 0 || req.Amount > maxAmount {
		fail(w, http.StatusUnprocessableEntity, "amount must be between 1 and 1e15")
		return
	}
	t, err := d.deposit(r.Context(), id, req.Amount)
	switch {
	case errors.Is(err, errNotFound):
		fail(w, http.StatusNotFound, "no such account")
	case errors.Is(err, errBalanceLimit):
		fail(w, http.StatusUnprocessableEntity, "the balance cannot take that much")
	case err != nil:
		log.Printf("deposit into %s: %v", id, err)
		fail(w, http.StatusInternalServerError, "the deposit failed")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(t)
	}
}

var (
	errNotFound     = errors.New("no such account")
	errBalanceLimit = errors.New("balance limit")
)

const moveSQL = `WITH moved AS (
	UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND balance <= $3
	RETURNING id, owner, owner_name, email, currency, balance, status, referral_code, created_at
), ledger AS (
	INSERT INTO transactions (id, account_id, kind, amount, balance_after, reference, reference_owner)
	SELECT $4, id, 'deposit', $1, balance, NULL, '' FROM moved
	RETURNING created_at
)
SELECT moved.*, ledger.created_at FROM moved, ledger`

// deposit moves amount into account id: the balance, the ledger row, the
// event and the email in one transaction.
func (d *deposits) deposit(ctx context.Context, id uuid.UUID, amount int64) (transaction, error) {
	var owner string
	if err := d.pool.QueryRow(ctx, `SELECT owner FROM accounts WHERE id = $1`, id).Scan(&owner); errors.Is(err, pgx.ErrNoRows) {
		return transaction{}, errNotFound
	} else if err != nil {
		return transaction{}, fmt.Errorf("look up account: %w", err)
	}
	t := transaction{ID: uuid.Must(uuid.NewV7()), AccountID: id, Kind: "deposit", Amount: amount}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var a struct {
			id                                             uuid.UUID
			owner, name, email, currency, status, referral string
			created                                        time.Time
		}
		err := tx.QueryRow(ctx, moveSQL, amount, id, math.MaxInt64-amount, t.ID).Scan(&a.id, &a.owner, &a.name,
			&a.email, &a.currency, &t.BalanceAfter, &a.status, &a.referral, &a.created, &t.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBalanceLimit // the account exists: the balance is what refused
		}
		if err != nil {
			return fmt.Errorf("apply deposit: %w", err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		event, err := json.Marshal(map[string]any{
			"transaction_id": t.ID, "account_id": id,
			"amount":        map[string]any{"amount": amount, "currency": a.currency},
			"balance_after": map[string]any{"amount": t.BalanceAfter, "currency": a.currency},
			"occurred_at":   t.CreatedAt,
		})
		if err != nil {
			return err
		}
		metadata := fmt.Sprintf(`{"producer":"accounts","occurred_at":%q}`, time.Now().UTC().Format(time.RFC3339Nano))
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (message_id, topic, payload, metadata) VALUES ($1, $2, $3, $4)`,
			uuid.Must(uuid.NewV7()), "accounts.funds_deposited.v2", event, metadata); err != nil {
			return fmt.Errorf("write event: %w", err)
		}
		body := fmt.Sprintf("Hello %s,\n\nWe received your deposit of %s.\nYour balance is now %s.\n\nTransaction %s, account %s.\n",
			a.name, money(amount, a.currency), money(t.BalanceAfter, a.currency), t.ID, id)
		if _, err := tx.Exec(ctx, `INSERT INTO notifications (id, owner_ref, recipient, subject, body, status)
			VALUES ($1, $2, $3, $4, $5, 'pending')`, uuid.Must(uuid.NewV7()), id.String(), a.email, "Deposit received", body); err != nil {
			return fmt.Errorf("enqueue email: %w", err)
		}
		return nil
	})
	return t, err
}

// money formats minor units of a two-decimal currency, as the email does.
func money(minor int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, currency)
}

func fail(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": http.StatusText(status), "detail": detail})
}
