package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// On a broker a consumer group exists from its creation on, and the events
// published before are not kept for it. `uberservice migrate --bus` creates
// every module's group, so that on a fresh deployment the events a module
// publishes before another module has ever run wait for that module.
//
// Here accounts runs alone, in a fresh namespace on the shared NATS, after
// migrate: a customer signs up with a manager's referral code and deposits.
// Only then does im start, for the first time on that bus; it must link the
// account and pay the commission from the events published before it existed.
func TestMigrateProvisionsGroupsSoEarlyEventsWaitForAModuleThatNeverRan(t *testing.T) {
	bus := cluster.NATSURL()
	db := apptest.FreshDatabase(t)
	ns := cluster.FreshNamespace(t, binary, bus, "prov")
	onBus := []string{"--bus", bus, "--bus-namespace", ns}

	for i := range 2 { // the second run finds everything there
		args := append([]string{"migrate", "--database-url", db, "--log-format", "json"}, onBus...)
		if code, _, stderr := runToExit(t, 60*time.Second, args...); code != 0 {
			t.Fatalf("migrate #%d exited %d, want 0; stderr:\n%s", i+1, code, tail(stderr))
		}
	}

	inNS := config(db, "--no-migrate")
	inNS.Namespace = ns
	accounts := startOne(t, bus, []string{"accounts"}, inNS)
	acc := accounts.URL("accounts")

	// The manager is im's data; it is made by an im that runs on another bus
	// (Postgres, in this database) and so never touches the NATS namespace.
	setup := startOne(t, "postgres", []string{"im"}, config(db, "--no-migrate", "--peer", "accounts="+accounts.InternalURL("accounts")))
	code := "EARLY-" + randomHex(4)
	staff := person(t, setup, "sue-staff", identity.Staff)
	mgr, ada := newManager(t, setup, staff, "ada-early", map[string]any{
		"name": "Ada Early", "email": "ada." + randomHex(3) + "@im.example.com", "referral_code": code, "commission_bps": 150,
	})
	if exit, ok := setup.Process("im").Signal(syscall.SIGTERM, 25*time.Second); !ok || exit != 0 {
		t.Fatalf("the setup im after SIGTERM: exited=%v code %d, want 0", ok, exit)
	}

	// accounts publishes account_created and funds_deposited while im has
	// never run on this bus.
	early := person(t, accounts, "early", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Early Customer", "email": "early." + randomHex(3) + "@example.com", "referral_code": code,
	}, early...), http.StatusCreated, &a, accountKeys...)
	d := deposit(t, acc, early, a.ID, 100000, 100000)
	conn := connect(t, db)
	apptest.Eventually(t, eventually, "accounts' outbox relayed to NATS", func() bool {
		var left int
		return conn.QueryRow(context.Background(), `SELECT count(*) FROM accounts.outbox`).Scan(&left) == nil && left == 0
	})

	// They wait in im's group, which migrate made.
	js := jetStream(t, bus)
	for _, topic := range []string{"accounts.account_created.v1", "accounts.funds_deposited.v2"} {
		stream := strings.ReplaceAll(ns+"."+topic, ".", "_")
		info, err := js.ConsumerInfo(stream, ns+"_im")
		if err != nil {
			t.Fatalf("im's consumer on %s, before im ever ran: %v", stream, err)
		}
		if info.NumPending != 1 || info.Delivered.Consumer != 0 {
			t.Fatalf("im's consumer on %s before im ever ran: %d pending, %d delivered; want the 1 event waiting", stream, info.NumPending, info.Delivered.Consumer)
		}
	}

	// im starts for the first time on this bus and gets both.
	inNS = config(db, "--no-migrate", "--peer", "accounts="+accounts.InternalURL("accounts"))
	inNS.Namespace = ns
	im := startOne(t, bus, []string{"im"}, inNS)
	cs := waitCommissions(t, im.URL("im"), ada, mgr.ID, 1)
	if len(cs.Items) != 1 || cs.Items[0].TransactionID != d.ID || cs.Items[0].AccountID != a.ID || cs.Items[0].Amount != 1500 {
		t.Fatalf("commissions %s, want one of 1500 on deposit %s into %s", describe(cs), d.ID, a.ID)
	}
	// account_created itself was handled (a deposit handled first could also
	// link the account, by asking accounts).
	apptest.Eventually(t, eventually, "im's handlers of both events", func() bool {
		rows, err := conn.Query(context.Background(), `SELECT handler FROM im.inbox`)
		if err != nil {
			return false
		}
		handlers, err := pgx.CollectRows(rows, pgx.RowTo[string])
		// im reads funds_deposited.v2; its inbox knows the handler by the
		// topic's first version, which every version shares.
		return err == nil && slices.Contains(handlers, "im.accounts.account_created.v1") &&
			slices.Contains(handlers, "im.accounts.funds_deposited.v1")
	})
	s := getSummary(t, im.URL("im"), ada, mgr.ID)
	if len(s.Accounts) != 1 || s.Accounts[0].AccountID != a.ID || s.CommissionTotal != 1500 {
		t.Fatalf("summary %s, want account %s managed, commission_total 1500", describe(s), a.ID)
	}
}

// migrate creates the groups on RabbitMQ and on the Postgres bus too: a
// durable queue per group and topic, an offsets row per group and topic; and
// it needs no bus to migrate (gochannel, the default, keeps no groups).
func TestMigrateProvisionsGroupsOnRabbitMQAndPostgres(t *testing.T) {
	t.Run("rabbitmq", func(t *testing.T) {
		bus := cluster.AMQPURL()
		db := apptest.FreshDatabase(t)
		ns := cluster.FreshNamespace(t, binary, bus, "prov")
		if code, _, stderr := runToExit(t, 60*time.Second, "migrate", "--database-url", db, "--bus", bus, "--bus-namespace", ns); code != 0 {
			t.Fatalf("migrate exited %d, want 0; stderr:\n%s", code, tail(stderr))
		}
		conn, err := amqp.Dial(bus)
		if err != nil {
			t.Fatalf("RabbitMQ is required (CI starts it): %v", err)
		}
		defer conn.Close()
		n := 0
		for _, m := range catalogue.Modules {
			module := m.Name
			for _, topic := range m.Consumes {
				queue := ns + "_" + module + "." + ns + "." + topic
				ch, err := conn.Channel()
				if err != nil {
					t.Fatal(err)
				}
				_, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
				var ae *amqp.Error
				if errors.As(err, &ae) && ae.Code == amqp.NotFound {
					t.Errorf("module %s consumes %s, but migrate made no queue %s", module, topic, queue)
				} else if err != nil {
					t.Errorf("queue %s: %v", queue, err)
				} else {
					_ = ch.Close()
				}
				n++
			}
		}
		if n == 0 {
			t.Fatal("no module consumes anything; the test checks nothing")
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db := apptest.FreshDatabase(t)
		if code, _, stderr := runToExit(t, 60*time.Second, "migrate", "--database-url", db, "--bus", "postgres"); code != 0 {
			t.Fatalf("migrate exited %d, want 0; stderr:\n%s", code, tail(stderr))
		}
		conn := connect(t, db)
		for _, m := range catalogue.Modules {
			module := m.Name
			for _, topic := range m.Consumes {
				var groups int
				q := fmt.Sprintf(`SELECT count(*) FROM uberservice_bus."watermill_offsets_%s" WHERE consumer_group = $1`, topic)
				if err := conn.QueryRow(context.Background(), q, module).Scan(&groups); err != nil || groups != 1 {
					t.Errorf("module %s consumes %s: %d offsets rows for it (%v), want 1", module, topic, groups, err)
				}
			}
		}
	})
}

func connect(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

func jetStream(t testing.TB, url string) nats.JetStreamContext {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("NATS is required (CI starts it): %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return js
}
