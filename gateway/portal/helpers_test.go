package portal_test

import (
	"net/http"
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// customer is the Authorization header of subject, a customer.
func customer(t *testing.T, sys *apptest.System, subject string) []string {
	t.Helper()
	return sys.Person(t, subject, identity.Customer)
}

// staff is the Authorization header of a member of staff.
func staff(t *testing.T, sys *apptest.System) []string {
	t.Helper()
	return sys.Person(t, "sam-from-support", identity.Staff)
}

// createManager creates a manager with referralCode through im's public
// API, as staff do, and returns it.
func createManager(t *testing.T, sys *apptest.System, referralCode string) map[string]any {
	t.Helper()
	return apptest.Do(t, http.MethodPost, sys.URL("im")+"/v1/managers", map[string]any{
		"name": "Alice Adviser", "email": "alice@example.com", "referral_code": referralCode, "commission_bps": 150, "subject": "alice-" + referralCode,
	}, staff(t, sys)...).Expect(t, http.StatusCreated).JSON(t)
}

// createAccount opens an account through the accounts module's public API,
// as the customer of owner, who owns it.
func createAccount(t *testing.T, sys *apptest.System, owner []string, body map[string]any) map[string]any {
	t.Helper()
	return apptest.Do(t, http.MethodPost, sys.URL("accounts")+"/v1/accounts", body, owner...).Expect(t, http.StatusCreated).JSON(t)
}

// accountView gets the portal's view of account id as the person of
// header, and expects a 200.
func accountView(t *testing.T, portalURL string, header []string, id any) map[string]any {
	t.Helper()
	s, ok := id.(string)
	if !ok {
		t.Fatalf("account id %v is not a string", id)
	}
	return apptest.Do(t, http.MethodGet, portalURL+"/v1/portal/accounts/"+s, nil, header...).Expect(t, http.StatusOK).JSON(t)
}
