package im_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
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
	"github.com/uberservice/uberservice/platform/identity"
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

// The people of the tests. A manager acts as the subject of their record;
// each account is opened by a customer of its own, who acts on it after.

// staffSubject is the support person who creates managers and links accounts.
const staffSubject = "staff-support"

// staff is the Authorization header of staff.
func (w world) staff(t testing.TB) []string {
	t.Helper()
	return w.Person(t, staffSubject, identity.Staff)
}

// as is the Authorization header of manager m's person.
func (w world) as(t testing.TB, m imgw.Manager) []string {
	t.Helper()
	return w.Person(t, m.Subject, identity.Manager)
}

// account is an account as accounts opened it, with the Authorization header
// of the customer who opened it and owns it.
type account struct {
	accountsgw.Account
	owner []string
}

// createManager creates a manager as staff; subject "" gets a subject of
// its own.
func (w world) createManager(t testing.TB, subject, name, email, code string, bps int) imgw.Manager {
	t.Helper()
	if subject == "" {
		subject = uniqueCode("manager")
	}
	var m imgw.Manager
	apptest.Do(t, http.MethodPost, w.im("/v1/managers"), map[string]any{
		"subject": subject, "name": name, "email": email, "referral_code": code, "commission_bps": bps,
	}, w.staff(t)...).Expect(t, http.StatusCreated).Decode(t, &m)
	return m
}

// newManager creates a manager with a subject and a referral code of its own.
func (w world) newManager(t testing.TB, name string, bps int) imgw.Manager {
	t.Helper()
	code := uniqueCode("IM")
	return w.createManager(t, "", name, code+"@managers.example", code, bps)
}

// openAccount opens an account as a customer of its own.
func (w world) openAccount(t testing.TB, owner, email, code string) account {
	t.Helper()
	body := map[string]any{"owner_name": owner, "email": email}
	if code != "" {
		body["referral_code"] = code
	}
	a := account{owner: w.Person(t, uniqueCode("customer"), identity.Customer)}
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts"), body, a.owner...).
		Expect(t, http.StatusCreated).Decode(t, &a.Account)
	return a
}

// deposit deposits into a as its owner.
func (w world) deposit(t testing.TB, a account, amount int64, headers ...string) accountsgw.Transaction {
	t.Helper()
	var tx accountsgw.Transaction
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts/"+a.ID.String()+"/deposits"),
		map[string]any{"amount": amount}, append(slices.Clone(a.owner), headers...)...).
		Expect(t, http.StatusCreated).Decode(t, &tx)
	return tx
}

// link links an account to a manager as staff.
func (w world) link(t testing.TB, managerID, accountID uuid.UUID) apptest.Response {
	t.Helper()
	return w.linkAs(t, w.staff(t), managerID, accountID)
}

func (w world) linkAs(t testing.TB, who []string, managerID, accountID uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.im("/v1/managers/"+managerID.String()+"/accounts"),
		map[string]any{"account_id": accountID}, who...)
}

// unlinkAs unlinks an account from a manager as who.
func (w world) unlinkAs(t testing.TB, who []string, managerID, accountID uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodDelete,
		w.im("/v1/managers/"+managerID.String()+"/accounts/"+accountID.String()), nil, who...)
}

// commissions, summary and managerMail read manager m's book as m.

func (w world) commissions(t testing.TB, m imgw.Manager) commissionList {
	t.Helper()
	var l commissionList
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+m.ID.String()+"/commissions"), nil, w.as(t, m)...).
		Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

func (w world) summary(t testing.TB, m imgw.Manager) summary {
	t.Helper()
	var s summary
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+m.ID.String()+"/summary"), nil, w.as(t, m)...).
		Expect(t, http.StatusOK).Decode(t, &s)
	return s
}

func (w world) managerMail(t testing.TB, m imgw.Manager) notificationList {
	t.Helper()
	var l notificationList
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+m.ID.String()+"/notifications"), nil, w.as(t, m)...).
		Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

// ownerMail reads the emails to a's owner, as its owner.
func (w world) ownerMail(t testing.TB, a account) notificationList {
	t.Helper()
	var l notificationList
	apptest.Do(t, http.MethodGet, w.accounts("/v1/accounts/"+a.ID.String()+"/notifications"), nil, a.owner...).
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
	payload, err := json.Marshal(events.DepositV2(events.Movement{
		TransactionID: txID, AccountID: accountID, Amount: amount, Currency: "USD",
		BalanceAfter: amount, OccurredAt: time.Now().UTC(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return payload, txID
}
