package im_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// world is accounts and im running for real against a fresh database.
type world struct{ *apptest.System }

func start(t *testing.T, cfg app.Config) world {
	t.Helper()
	return world{apptest.Start(t, []app.Module{accounts.Module(), im.Module()}, cfg)}
}

func (w world) im(path string) string       { return w.URL("im") + path }
func (w world) accounts(path string) string { return w.URL("accounts") + path }

// The wire shapes of im's public API, spelled out here rather than borrowed
// from the module, so that the tests hold the module to the contract.

type link struct {
	ManagerID uuid.UUID `json:"manager_id"`
	AccountID uuid.UUID `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
}

type commissionList struct {
	Items []struct {
		ID            uuid.UUID `json:"id"`
		AccountID     uuid.UUID `json:"account_id"`
		TransactionID uuid.UUID `json:"transaction_id"`
		Amount        int64     `json:"amount"`
		Currency      string    `json:"currency"`
		CreatedAt     time.Time `json:"created_at"`
	} `json:"items"`
	Total int64 `json:"total"`
}

type summary struct {
	Manager  imgw.Manager `json:"manager"`
	Accounts []struct {
		AccountID uuid.UUID `json:"account_id"`
		OwnerName string    `json:"owner_name"`
		Balance   int64     `json:"balance"`
		Currency  string    `json:"currency"`
	} `json:"accounts"`
	CommissionTotal int64 `json:"commission_total"`
}

type notificationList struct {
	Items []struct {
		ID        uuid.UUID `json:"id"`
		To        string    `json:"to"`
		Subject   string    `json:"subject"`
		Status    string    `json:"status"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"items"`
}

// uniqueCode returns a referral code no other test uses.
func uniqueCode(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func (w world) createManager(t testing.TB, name, email, code string, bps int) imgw.Manager {
	t.Helper()
	var m imgw.Manager
	apptest.Do(t, http.MethodPost, w.im("/v1/managers"), map[string]any{
		"name": name, "email": email, "referral_code": code, "commission_bps": bps,
	}).Expect(t, http.StatusCreated).Decode(t, &m)
	return m
}

// newManager creates a manager with a referral code of its own.
func (w world) newManager(t testing.TB, name string, bps int) imgw.Manager {
	t.Helper()
	code := uniqueCode("IM")
	return w.createManager(t, name, code+"@managers.example", code, bps)
}

func (w world) openAccount(t testing.TB, owner, email, code string) accountsgw.Account {
	t.Helper()
	body := map[string]any{"owner_name": owner, "email": email}
	if code != "" {
		body["referral_code"] = code
	}
	var a accountsgw.Account
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts"), body).Expect(t, http.StatusCreated).Decode(t, &a)
	return a
}

func (w world) deposit(t testing.TB, accountID uuid.UUID, amount int64, headers ...string) accountsgw.Transaction {
	t.Helper()
	var tx accountsgw.Transaction
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts/"+accountID.String()+"/deposits"),
		map[string]any{"amount": amount}, headers...).Expect(t, http.StatusCreated).Decode(t, &tx)
	return tx
}

func (w world) link(t testing.TB, managerID, accountID uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.im("/v1/managers/"+managerID.String()+"/accounts"),
		map[string]any{"account_id": accountID})
}

func (w world) commissions(t testing.TB, managerID uuid.UUID) commissionList {
	t.Helper()
	var l commissionList
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+managerID.String()+"/commissions"), nil).
		Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

func (w world) summary(t testing.TB, managerID uuid.UUID) summary {
	t.Helper()
	var s summary
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+managerID.String()+"/summary"), nil).
		Expect(t, http.StatusOK).Decode(t, &s)
	return s
}

func (w world) managerMail(t testing.TB, managerID uuid.UUID) notificationList {
	t.Helper()
	var l notificationList
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+managerID.String()+"/notifications"), nil).
		Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

func (w world) ownerMail(t testing.TB, accountID uuid.UUID) notificationList {
	t.Helper()
	var l notificationList
	apptest.Do(t, http.MethodGet, w.accounts("/v1/accounts/"+accountID.String()+"/notifications"), nil).
		Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

// managerOf asks im's gateway binding who manages an account.
func (w world) managerOf(t testing.TB, accountID uuid.UUID) *imgw.Manager {
	t.Helper()
	var out struct {
		Manager *imgw.Manager `json:"manager"`
	}
	apptest.Do(t, http.MethodGet, w.InternalURL("im")+"/gateway/im/v1/accounts/"+accountID.String()+"/manager", nil,
		w.As(t, apptest.Harness, "im")...).
		Expect(t, http.StatusOK).Decode(t, &out)
	return out.Manager
}

func depositPayload(t testing.TB, accountID uuid.UUID, amount int64) ([]byte, uuid.UUID) {
	t.Helper()
	txID := uuid.New()
	payload, err := json.Marshal(events.FundsDeposited{Movement: events.Movement{
		TransactionID: txID, AccountID: accountID, Amount: amount, Currency: "USD",
		BalanceAfter: amount, OccurredAt: time.Now().UTC(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return payload, txID
}
