package im_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/google/uuid"

	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/gateway/im/contracttest"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// The im gateway answers alike in process and over HTTP: the same suite passes
// against the module's local implementation and against the HTTP client
// talking to the module's server binding.
func TestGatewayContract(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	local := apptest.Local(t, w.System, imgw.Gateway)
	remote := apptest.Remote(w.System, imgw.Gateway, httpclient.Options{})

	apptest.EachImplementation(t, w.System, imgw.Gateway, func(t *testing.T, impl imgw.IM) {
		contracttest.Run(t, func(t *testing.T) contracttest.Subject {
			return contracttest.Subject{
				IM: impl,
				NewManager: func(t testing.TB, m imgw.Manager) imgw.Manager {
					return w.createManager(t, m.Subject, m.Name, m.Email, m.ReferralCode, m.CommissionBps)
				},
				NewAccount: func(t testing.TB) uuid.UUID {
					return w.openAccount(t, "Contract Owner", "owner@contract.example", "").ID
				},
				Link: func(t testing.TB, managerID, accountID uuid.UUID) {
					w.link(t, managerID, accountID).Expect(t, http.StatusCreated)
				},
			}
		})
	})

	t.Run("local and http give identical answers", func(t *testing.T) {
		m := w.newManager(t, "Ada Manager", 150)
		managed := w.openAccount(t, "Bob Owner", "bob@owners.example", "").ID
		w.link(t, m.ID, managed).Expect(t, http.StatusCreated)
		unmanaged := w.openAccount(t, "Carol Owner", "carol@owners.example", "").ID

		for _, account := range []uuid.UUID{managed, unmanaged, uuid.New()} {
			lm, lfound, lerr := local.ManagerOf(t.Context(), account)
			rm, rfound, rerr := remote.ManagerOf(t.Context(), account)
			if !reflect.DeepEqual(lm, rm) || lfound != rfound || lerr != nil || rerr != nil {
				t.Errorf("ManagerOf(%s): local %+v %v %v, http %+v %v %v", account, lm, lfound, lerr, rm, rfound, rerr)
			}
		}
		for _, id := range []uuid.UUID{m.ID, uuid.New()} {
			lm, lerr := local.Manager(t.Context(), id)
			rm, rerr := remote.Manager(t.Context(), id)
			if !reflect.DeepEqual(lm, rm) || (lerr == nil) != (rerr == nil) ||
				(lerr != nil && !(errors.Is(lerr, imgw.ErrManagerNotFound) && errors.Is(rerr, imgw.ErrManagerNotFound))) {
				t.Errorf("Manager(%s): local %+v %v, http %+v %v", id, lm, lerr, rm, rerr)
			}
		}
	})
}
