package deploy_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/deploy"
)

// TestBrokerPermissionsFollowTheDeclarations: a module's NATS user may
// publish exactly its declared topics and subscribe to its own deliveries
// alone, and its RabbitMQ user may write to the exchanges of its topics and
// read the queues of its own group alone.
func TestBrokerPermissionsFollowTheDeclarations(t *testing.T) {
	modules := shop()
	var topics []string
	for _, m := range modules {
		topics = append(topics, m.Publishes...)
	}
	for _, m := range modules {
		nats := deploy.NATSPermissionsOf(m)
		rabbit := deploy.RabbitMQPermissionsOf(m)
		write := regexp.MustCompile(rabbit.Write)
		read := regexp.MustCompile(rabbit.Read)
		for _, topic := range topics {
			own := slices.Contains(m.Publishes, topic)
			if got := slices.Contains(nats.Publish, topic); got != own {
				t.Errorf("%s: NATS publish to %s allowed = %v, want %v", m.Name, topic, got, own)
			}
			if got := write.MatchString(topic); got != own {
				t.Errorf("%s: RabbitMQ write to exchange %s allowed = %v, want %v", m.Name, topic, got, own)
			}
			consumed := slices.Contains(m.Consumes, topic)
			if got := read.MatchString(topic); got != consumed {
				t.Errorf("%s: RabbitMQ read from exchange %s allowed = %v, want %v", m.Name, topic, got, consumed)
			}
			for _, o := range modules {
				ownQueue := o.Name == m.Name && consumed
				queue := o.Name + "." + topic
				if got := read.MatchString(queue) && write.MatchString(queue); got != ownQueue {
					t.Errorf("%s: RabbitMQ queue %s usable = %v, want %v", m.Name, queue, got, ownQueue)
				}
				deliver := deploy.NATSDeliverSubject(o.Name, topic)
				if got := slices.Contains(nats.Subscribe, deliver); got != ownQueue {
					t.Errorf("%s: NATS subscribe to %s allowed = %v, want %v", m.Name, deliver, got, ownQueue)
				}
			}
		}
		for _, s := range append(slices.Clone(nats.Publish), nats.Subscribe...) {
			if strings.ContainsAny(s, "*") || (strings.HasSuffix(s, ">") && !strings.HasPrefix(s, "$JS.") && s != "_INBOX.>") {
				t.Errorf("%s: NATS permission %q is wider than the module's own subjects", m.Name, s)
			}
		}
	}
}

// TestBrokerFilesNameEveryModule: the NATS configuration has a user per
// module and the administrator, each password from its own variable, and
// the RabbitMQ script a user per module.
func TestBrokerFilesNameEveryModule(t *testing.T) {
	files := renderBrokers(t, shop())
	conf, script := string(files["brokers/nats-server.conf"]), string(files["brokers/rabbitmq-users.sh"])
	users := regexp.MustCompile(`\{user: ([a-z-]+), password: \$([A-Z_]+)`).FindAllStringSubmatch(conf, -1)
	want := [][2]string{{deploy.BrokerAdmin, deploy.NATSPasswordEnv("")}}
	for _, m := range shop() {
		want = append(want, [2]string{m.Name, deploy.NATSPasswordEnv(m.Name)})
		if !strings.Contains(script, "\nuser "+m.Name+` "${`+deploy.RabbitMQPasswordEnv(m.Name)+":?") {
			t.Errorf("the RabbitMQ script creates no user %s from %s", m.Name, deploy.RabbitMQPasswordEnv(m.Name))
		}
	}
	var got [][2]string
	for _, u := range users {
		got = append(got, [2]string{u[1], u[2]})
	}
	if !slices.Equal(got, want) {
		t.Errorf("NATS users and their password variables:\n got %v\nwant %v", got, want)
	}
	if _, err := deploy.Brokers([]deploy.Module{{Name: deploy.BrokerAdmin, Port: 1, InternalPort: 2}}); err == nil {
		t.Errorf("a module named %s, the brokers' administrator, was rendered", deploy.BrokerAdmin)
	}
}

func renderBrokers(t *testing.T, modules []deploy.Module) map[string][]byte {
	t.Helper()
	files, err := deploy.Brokers(modules)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}
