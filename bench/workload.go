package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/internal/cluster"
)

// The requests the scenarios send, and the waits between runs.

// depositBody is every deposit of the benchmarks: 1.00 in minor units.
var depositBody = []byte(`{"amount":100}`)

// deposits are POST /v1/accounts/{id}/deposits, without an Idempotency-Key,
// into an account drawn at random from ids.
func deposits(accountsURL string, ids []string, as []string) vegeta.Targeter {
	return load.Targets(func() vegeta.Target {
		id := ids[rand.IntN(len(ids))]
		return authorized(load.Request(http.MethodPost, accountsURL+"/v1/accounts/"+id+"/deposits", depositBody), as)
	})
}

// portalViews are GET /v1/portal/accounts/{id} of an account drawn at random
// from ids.
func portalViews(portalURL string, ids []string, as []string) vegeta.Targeter {
	return load.Targets(func() vegeta.Target {
		return authorized(load.Request(http.MethodGet, portalURL+"/v1/portal/accounts/"+ids[rand.IntN(len(ids))], nil), as)
	})
}

// orders are POST /v1/orders of one unit of a product of skus from an
// account of accounts, both drawn at random.
func orders(ordersURL string, accounts, skus []string, as []string) vegeta.Targeter {
	var bodies [][]byte
	for _, a := range accounts {
		for _, sku := range skus {
			body, _ := json.Marshal(map[string]any{"account_id": a, "lines": []map[string]any{{"sku": sku, "quantity": 1}}})
			bodies = append(bodies, body)
		}
	}
	return load.Targets(func() vegeta.Target {
		return authorized(load.Request(http.MethodPost, ordersURL+"/v1/orders", bodies[rand.IntN(len(bodies))]), as)
	})
}

// authorized is t sent as the person whose Authorization header is as.
func authorized(t vegeta.Target, as []string) vegeta.Target {
	if t.Header == nil {
		t.Header = http.Header{}
	}
	for i := 0; i+1 < len(as); i += 2 {
		t.Header.Set(as[i], as[i+1])
	}
	return t
}

// paid fails an order answer that is not a paid order.
func paid(res *vegeta.Result) error {
	var o struct {
		Status       string  `json:"status"`
		RejectReason *string `json:"reject_reason"`
	}
	if err := json.Unmarshal(res.Body, &o); err != nil {
		return fmt.Errorf("order answer: %w", err)
	}
	if o.Status != "paid" {
		reason := ""
		if o.RejectReason != nil {
			reason = *o.RejectReason
		}
		return fmt.Errorf("order %s %s", o.Status, reason)
	}
	return nil
}

// whole fails a portal view that is degraded or has no manager.
func whole(res *vegeta.Result) error {
	var v struct {
		Manager  *struct{} `json:"manager"`
		Degraded []string  `json:"degraded"`
	}
	if err := json.Unmarshal(res.Body, &v); err != nil {
		return fmt.Errorf("portal answer: %w", err)
	}
	if v.Manager == nil || len(v.Degraded) > 0 {
		return fmt.Errorf("portal view degraded %v, manager %v", v.Degraded, v.Manager != nil)
	}
	return nil
}

// backlogQuery counts what the modules still owe after the requests were
// answered: events in their outboxes, and emails not sent yet.
const backlogQuery = `SELECT
	(SELECT count(*) FROM accounts.outbox) + (SELECT count(*) FROM im.outbox) +
	(SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM warehouse.outbox),
	(SELECT count(*) FROM accounts.notifications WHERE status = 'pending') +
	(SELECT count(*) FROM im.notifications WHERE status = 'pending')`

// backlog is what was left to do when a run's last answer came, and how
// long the modules took to finish it.
type backlog struct {
	// Events are the rows in the outboxes and, with a broker between the
	// processes, the messages it holds for a consumer group that has not
	// acknowledged them yet.
	Events int64         `json:"events"`
	Emails int64         `json:"emails"` // pending notifications
	Took   time.Duration `json:"took_ns"`
}

// drain waits until c's modules have relayed every event, handled every
// message their broker holds for them and sent every email the last run
// caused, so that the next run starts on a quiet system.
func drain(ctx context.Context, c *cluster.Cluster, timeout time.Duration) (backlog, error) {
	return drainBy(ctx, c.DatabaseURL(), backlogQuery, brokerOf(c), timeout)
}

// drainBy is drain with a query of its own (events, emails) for a database
// that holds only some of the modules' schemas, and the broker whose
// messages count as events too (nil: none).
func drainBy(ctx context.Context, dbURL, query string, broker *natsBacklog, timeout time.Duration) (backlog, error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return backlog{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	defer broker.close()
	var b backlog
	for i := 0; ; i++ {
		var events, emails int64
		if err := conn.QueryRow(ctx, query).Scan(&events, &emails); err != nil {
			return b, fmt.Errorf("backlog: %w", err)
		}
		held, err := broker.count()
		if err != nil {
			return b, fmt.Errorf("backlog: %w", err)
		}
		events += held
		if i == 0 {
			b.Events, b.Emails = events, emails
		}
		if events+emails == 0 {
			b.Took = time.Since(start)
			return b, nil
		}
		if time.Since(start) > timeout {
			return b, fmt.Errorf("backlog: %d events (%d of them in the broker) and %d emails still pending after %s", events, held, emails, timeout)
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// natsBacklog counts the messages NATS JetStream holds for the consumer
// groups of one bus namespace: pushed and not acknowledged, or not pushed
// yet. The outboxes are empty once the relays have published; the events
// are handled once this is zero too.
type natsBacklog struct {
	url, prefix string
	nc          *nats.Conn
	js          nats.JetStreamContext
}

// brokerOf is the broker between c's processes whose backlog drain counts,
// nil for none (one process, or a bus other than NATS, which the bench does
// not split modules over).
func brokerOf(c *cluster.Cluster) *natsBacklog {
	if !c.Split() || !strings.HasPrefix(c.Bus(), "nats://") {
		return nil
	}
	return &natsBacklog{url: c.Bus(), prefix: c.Namespace() + "_"}
}

func (n *natsBacklog) count() (int64, error) {
	if n == nil {
		return 0, nil
	}
	if n.nc == nil {
		nc, err := nats.Connect(n.url, nats.Timeout(5*time.Second))
		if err != nil {
			return 0, fmt.Errorf("NATS: %w", err)
		}
		js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
		if err != nil {
			nc.Close()
			return 0, fmt.Errorf("NATS JetStream: %w", err)
		}
		n.nc, n.js = nc, js
	}
	var held int64
	for name := range n.js.StreamNames() {
		if !strings.HasPrefix(name, n.prefix) {
			continue
		}
		for info := range n.js.ConsumersInfo(name) {
			held += int64(info.NumPending) + int64(info.NumAckPending)
		}
	}
	return held, nil
}

func (n *natsBacklog) close() {
	if n != nil && n.nc != nil {
		n.nc.Close()
		n.nc = nil
	}
}
