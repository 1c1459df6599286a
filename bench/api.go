package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/identity"
)

// The setup calls the scenarios make through the public API, before they
// measure anything.

var client = &http.Client{Timeout: 30 * time.Second}

// call sends body as JSON as the person whose Authorization header is as,
// and decodes a JSON answer into out (when not nil); any status but want is
// an error.
func call(ctx context.Context, as []string, method, url string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(as); i += 2 {
		req.Header.Set(as[i], as[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %s", method, url, resp.Status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode %s: %w", method, url, data, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// manager creates an investment manager, as staff, and returns its id and
// referral code.
func manager(ctx context.Context, p people, im string) (id, code string, err error) {
	code = "BENCH-" + randomHex(4)
	var m struct {
		ID string `json:"id"`
	}
	err = call(ctx, p.staff, http.MethodPost, im+"/v1/managers", map[string]any{
		"name": "Bench Manager", "email": "manager." + randomHex(3) + "@bench.example",
		"referral_code": code, "commission_bps": 150, "subject": "bench-manager-" + randomHex(4),
	}, http.StatusCreated, &m)
	return m.ID, code, err
}

// openAccounts opens n accounts of the customer, 8 at a time, with the
// referral code (none when empty), and returns their ids.
func openAccounts(ctx context.Context, p people, accounts string, n int, referral string) ([]string, error) {
	ids := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range ids {
		g.Go(func() error {
			var a struct {
				ID string `json:"id"`
			}
			body := map[string]any{"owner_name": fmt.Sprintf("Bench Owner %d", i), "email": fmt.Sprintf("owner%d.%s@bench.example", i, randomHex(2))}
			if referral != "" {
				body["referral_code"] = referral
			}
			if err := call(gctx, p.customer, http.MethodPost, accounts+"/v1/accounts", body, http.StatusCreated, &a); err != nil {
				return err
			}
			ids[i] = a.ID
			return nil
		})
	}
	return ids, g.Wait()
}

// deposit puts amount into account, as the customer who owns it.
func deposit(ctx context.Context, p people, accounts, account string, amount int64) error {
	return call(ctx, p.customer, http.MethodPost, accounts+"/v1/accounts/"+account+"/deposits",
		map[string]any{"amount": amount}, http.StatusCreated, nil)
}

// product creates a product at price and receives quantity of it, as staff.
func product(ctx context.Context, p people, warehouse string, price, quantity int64) (string, error) {
	sku := "BENCH-" + randomHex(4)
	if err := call(ctx, p.staff, http.MethodPost, warehouse+"/v1/products",
		map[string]any{"sku": sku, "name": "Benchmark widget", "price": price}, http.StatusCreated, nil); err != nil {
		return "", err
	}
	return sku, call(ctx, p.staff, http.MethodPost, warehouse+"/v1/products/"+sku+"/stock",
		map[string]any{"quantity": quantity}, http.StatusOK, nil)
}

// waitLinked waits until im has linked every one of accounts to a manager
// (im learns of them from accounts.account_created.v1).
func waitLinked(ctx context.Context, dbURL string, accounts []string, timeout time.Duration) error {
	return waitZero(ctx, dbURL, `SELECT $2::int - count(*) FROM im.account_links WHERE account_id = ANY($1::uuid[])`,
		[]any{accounts, len(accounts)}, timeout)
}

// waitZero polls query (one count) until it is zero.
func waitZero(ctx context.Context, dbURL, query string, args []any, timeout time.Duration) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(timeout)
	var n int64
	for {
		if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still %d after %s: %s", n, timeout, query)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// people are the persons the scenarios act as, with tokens the cluster
// trusts: a customer, who owns every account the scenarios open, and staff,
// who run the store and make the managers.
type people struct{ customer, staff []string }

func peopleOf(c *cluster.Cluster) (people, error) {
	customer, err := c.Person("bench-customer-"+randomHex(3), identity.Customer)
	if err != nil {
		return people{}, err
	}
	staff, err := c.Person("bench-staff-"+randomHex(3), identity.Staff)
	return people{customer: customer, staff: staff}, err
}
