package app

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/uberservice/uberservice/platform/mail"
)

func runCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	var f flags
	fs := newFlagSet("run", &f, modules, true)
	shadow := fs.String("shadow", os.Getenv("UBERSERVICE_SHADOW"), "run every module started as a shadow NAME: beside the live one, on its events, in schema MODULE_NAME, sending and publishing nothing and serving no public traffic; see 'uberservice compare' (env UBERSERVICE_SHADOW)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %v", fs.Args())
	}
	tuneGC()
	cfg, log, err := f.config(modules, stderr)
	if err != nil {
		return err
	}
	if cfg.Mail, err = mail.NewSender(f.mailURL, log); err != nil {
		return &UsageError{err.Error()}
	}
	cfg.Shadow = *shadow
	if cfg.Keys, err = loadKeys(f.keys, f.pgDir, modules, log); err != nil {
		return err
	}
	dir, development := keysDir(f.keys, f.pgDir)
	if cfg.Identity, err = f.people.config(dir, development, log); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.debug != "" {
		stopDebug, err := serveDebug(ctx, f.debug, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	release, err := resolveDatabase(ctx, &cfg, modules, f.pgDir, log)
	if err != nil {
		return err
	}
	defer release()
	sys, err := Start(ctx, modules, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	log.Info("shutting down")
	err = sys.Stop(context.Background())
	log.Info("stopped")
	return err
}

// gcPercent is the garbage collector's target when GOGC does not say:
// twice Go's default. A server's heap is small beside what it allocates
// per request (a few MiB live, tens of KiB per deposit), so the default
// collects several hundred times a second under load, for a tenth of the
// CPU; at 200 it collects half as often, for a few MiB more.
const gcPercent = 200

// tuneGC sets the collector's target to gcPercent unless GOGC is set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
