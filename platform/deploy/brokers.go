package deploy

import (
	"regexp"
	"slices"
	"strings"
)

// The brokers' users. Each module connects to NATS or RabbitMQ as a user of
// its own, named after it, whose permissions are its declarations: it may
// publish the topics it Publishes and consume, as its own consumer group, the
// topics it Consumes, and nothing else. The administrative user, BrokerAdmin,
// may do anything: `uberservice migrate` connects as it to create every
// module's consumer group, and so may a process that runs several modules.
//
// Passwords are never rendered: the files name the environment variables
// that hold them (NATSPasswordEnv, RabbitMQPasswordEnv), which the broker's
// deployment sets from its secrets.
const BrokerAdmin = "uberservice"

// NATSPasswordEnv names the environment variable from which nats-server reads
// the password of module's user; "" names the administrator's.
func NATSPasswordEnv(module string) string { return passwordEnv("UBERSERVICE_NATS_PASSWORD", module) }

// RabbitMQPasswordEnv names the environment variable from which the users
// script reads the password of module's RabbitMQ user.
func RabbitMQPasswordEnv(module string) string {
	return passwordEnv("UBERSERVICE_RABBITMQ_PASSWORD", module)
}

func passwordEnv(prefix, module string) string {
	if module == "" {
		return prefix
	}
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(module, "-", "_"))
}

// NATSPermissions are the subjects a module's NATS user may publish to and
// subscribe to.
type NATSPermissions struct {
	Publish, Subscribe []string
}

// NATSDeliverSubject is the subject on which NATS delivers topic's events to
// the consumer group of module: the messaging package's push consumers
// deliver there, and only that module's user may subscribe to it.
func NATSDeliverSubject(module, topic string) string {
	return "_uberservice.deliver." + natsStream(topic) + "." + module
}

// natsStream is the JetStream stream of topic, as the messaging package names
// it: the topic with its dots made underscores.
func natsStream(topic string) string { return strings.ReplaceAll(topic, ".", "_") }

// NATSPermissionsOf derives m's NATS permissions from its declarations:
//   - the JetStream API requests the messaging package makes: account info,
//     stream lookup, and creating the stream of every topic m publishes or
//     consumes (whoever comes first creates it);
//   - publishing each topic m publishes, and no other;
//   - for each topic m consumes, creating and reading its own durable
//     consumer (named after m) on the topic's stream, acknowledging that
//     consumer's messages, and subscribing to its deliver subject: another
//     module can neither read nor acknowledge m's events;
//   - replies to its own requests, on _INBOX.
func NATSPermissionsOf(m Module) NATSPermissions {
	p := NATSPermissions{
		Publish:   []string{"$JS.API.INFO", "$JS.API.STREAM.NAMES"},
		Subscribe: []string{"_INBOX.>"},
	}
	for _, topic := range union(m.Publishes, m.Consumes) {
		s := natsStream(topic)
		p.Publish = append(p.Publish, "$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.CREATE."+s)
	}
	p.Publish = append(p.Publish, m.Publishes...)
	for _, topic := range m.Consumes {
		s, c := natsStream(topic), m.Name
		p.Publish = append(p.Publish,
			"$JS.API.CONSUMER.INFO."+s+"."+c,
			"$JS.API.CONSUMER.CREATE."+s+"."+c,
			"$JS.API.CONSUMER.CREATE."+s+"."+c+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+s+"."+c,
			"$JS.ACK."+s+"."+c+".>",
		)
		p.Subscribe = append(p.Subscribe, NATSDeliverSubject(m.Name, topic))
	}
	return p
}

// RabbitMQPermissions are a module's RabbitMQ permissions on the vhost: the
// regular expressions of the resources it may configure (declare), write to
// (publish to an exchange, bind a queue) and read from (consume a queue, bind
// from an exchange).
type RabbitMQPermissions struct {
	Configure, Write, Read string
}

// RabbitMQPermissionsOf derives m's RabbitMQ permissions from its
// declarations, on the layout of the messaging package: an exchange per topic,
// named after it, and a queue per consumer group and topic, "GROUP.TOPIC".
// m may declare the exchanges of the topics it publishes or consumes, publish
// to the first alone, and declare, bind and consume its own queues alone.
func RabbitMQPermissionsOf(m Module) RabbitMQPermissions {
	var queues []string
	for _, topic := range m.Consumes {
		queues = append(queues, m.Name+"."+topic)
	}
	return RabbitMQPermissions{
		Configure: anchored(union(m.Publishes, m.Consumes), queues),
		Write:     anchored(m.Publishes, queues),
		Read:      anchored(m.Consumes, queues),
	}
}

// anchored is a regular expression that matches exactly the given names; ^$
// (no resource: RabbitMQ names none empty) when there are none.
func anchored(lists ...[]string) string {
	var quoted []string
	for _, l := range lists {
		for _, name := range l {
			quoted = append(quoted, regexp.QuoteMeta(name))
		}
	}
	if len(quoted) == 0 {
		return "^$"
	}
	return "^(" + strings.Join(quoted, "|") + ")$"
}

// union is a and the names of b not in a, in order.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, name := range b {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Brokers renders brokers/nats-server.conf, the NATS server configuration
// (JetStream, and a user per module with its permissions), and
// brokers/rabbitmq-users.sh, a script that creates a RabbitMQ user per module
// with its permissions. Both are derived from the declarations alone, so a
// module added to the binary gets its user the next time they are rendered,
// and a topic it stops declaring is refused to it by the broker itself.
func Brokers(modules []Module) ([]File, error) {
	if err := validate(modules); err != nil {
		return nil, err
	}
	type user struct {
		Module
		Comment     string
		NATS        NATSPermissions
		NATSEnv     string
		RabbitMQ    RabbitMQPermissions
		RabbitMQEnv string
	}
	data := struct {
		Admin, AdminEnv string
		Users           []user
	}{Admin: BrokerAdmin, AdminEnv: NATSPasswordEnv("")}
	for _, m := range modules {
		data.Users = append(data.Users, user{
			Module:      m,
			Comment:     summary(m),
			NATS:        NATSPermissionsOf(m),
			NATSEnv:     NATSPasswordEnv(m.Name),
			RabbitMQ:    RabbitMQPermissionsOf(m),
			RabbitMQEnv: RabbitMQPasswordEnv(m.Name),
		})
	}
	var files []File
	for _, r := range []struct{ path, template string }{
		{"brokers/nats-server.conf", "nats-server.conf.tmpl"},
		{"brokers/rabbitmq-users.sh", "rabbitmq-users.sh.tmpl"},
	} {
		f, err := render(r.path, r.template, data)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
