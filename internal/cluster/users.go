package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/uberservice/uberservice/platform/deploy"
)

// brokerUsers is a broker on which each module connects as the user
// `uberservice deploy brokers` renders for it, with the permissions its
// declarations give: on NATS a server of the cluster's own started with the
// rendered configuration, on RabbitMQ a vhost of the cluster's own with the
// users the rendered script creates. Either way the cluster's events are
// apart from any other's without a namespace, and the broker itself refuses
// a module a topic it did not declare.
type brokerUsers struct {
	admin string            // the administrator's URL: migrations, several modules in a process
	urls  map[string]string // module -> its own user's URL
	close func() error
}

// newBrokerUsers renders the binary's broker files into dir and sets up bus
// (a nats:// or amqp:// URL: the server to make users on) with them.
func newBrokerUsers(ctx context.Context, binary, bus, dir string, cat Catalogue) (*brokerUsers, error) {
	if out, err := exec.CommandContext(ctx, binary, "deploy", "brokers", "--out", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cluster: uberservice deploy brokers: %w\n%s", err, out)
	}
	passwords := map[string]string{}
	for _, m := range cat.Names() {
		passwords[m] = brokerPassword()
	}
	switch {
	case strings.HasPrefix(bus, "nats://"):
		return natsUsers(ctx, filepath.Join(dir, "brokers", "nats-server.conf"), dir, passwords)
	case strings.HasPrefix(bus, "amqp://"), strings.HasPrefix(bus, "amqps://"):
		return rabbitMQUsers(ctx, bus, filepath.Join(dir, "brokers", "rabbitmq-users.sh"), passwords)
	}
	return nil, fmt.Errorf("cluster: broker users need NATS or RabbitMQ, not %q", bus)
}

// natsUsers starts a NATS server with the rendered configuration conf.
func natsUsers(ctx context.Context, conf, dir string, passwords map[string]string) (*brokerUsers, error) {
	admin := brokerPassword()
	env := []string{deploy.NATSPasswordEnv("") + "=" + admin}
	for m, pw := range passwords {
		env = append(env, deploy.NATSPasswordEnv(m)+"="+pw)
	}
	srv, err := StartNATS(ctx, NATSConfig{Dir: dir, Config: conf, Env: env, Admin: deploy.BrokerAdmin + ":" + admin})
	if err != nil {
		return nil, err
	}
	u := &brokerUsers{admin: srv.URL, urls: map[string]string{}, close: srv.Stop}
	for m, pw := range passwords {
		u.urls[m] = fmt.Sprintf("nats://%s:%s@127.0.0.1:%d", m, pw, srv.Port)
	}
	return u, nil
}

// rabbitMQUsers makes a vhost on the RabbitMQ server of bus, runs the
// rendered script there with users prefixed by the vhost's name, and lets
// bus's own user administer the vhost. Close deletes the vhost and users.
func rabbitMQUsers(ctx context.Context, bus, script string, passwords map[string]string) (*brokerUsers, error) {
	base, err := url.Parse(bus)
	if err != nil || base.User == nil {
		return nil, fmt.Errorf("cluster: broker users: %q names no RabbitMQ user", bus)
	}
	vhost := "uberservice-" + randomHex(4)
	prefix := vhost + "-"
	ctl := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"--quiet"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("cluster: rabbitmqctl %s: %w\n%s", args[0], err, out)
		}
		return nil
	}
	u := &brokerUsers{urls: map[string]string{}}
	u.close = func() error {
		errs := []error{ctl("delete_vhost", vhost)}
		for m := range passwords {
			errs = append(errs, ctl("delete_user", prefix+m))
		}
		return errors.Join(errs...)
	}
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = append(os.Environ(), "UBERSERVICE_RABBITMQ_VHOST="+vhost, "UBERSERVICE_RABBITMQ_USER_PREFIX="+prefix)
	for m, pw := range passwords {
		cmd.Env = append(cmd.Env, deploy.RabbitMQPasswordEnv(m)+"="+pw)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.Join(fmt.Errorf("cluster: %s: %w\n%s", script, err, out), u.close())
	}
	if err := ctl("set_permissions", "-p", vhost, base.User.Username(), ".*", ".*", ".*"); err != nil {
		return nil, errors.Join(err, u.close())
	}
	at := func(user *url.Userinfo) string {
		v := *base
		v.User, v.Path, v.RawPath = user, "/"+vhost, ""
		return v.String()
	}
	u.admin = at(base.User)
	for m, pw := range passwords {
		u.urls[m] = at(url.UserPassword(prefix+m, pw))
	}
	return u, nil
}

// url is the bus a process of modules connects to: the one module's own
// user, or the administrator for several.
func (u *brokerUsers) url(modules []string) string {
	if len(modules) == 1 {
		return u.urls[modules[0]]
	}
	return u.admin
}

// brokerPassword is a fresh password for a broker user. It starts with a
// letter: nats-server reads the value of a variable its configuration names
// as a configuration value, and one that starts with a digit is a number, or
// an error, rather than the password.
func brokerPassword() string { return "pw" + randomHex(12) }
