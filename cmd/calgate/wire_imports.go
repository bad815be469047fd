package main

import (
	"context"
	"time"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/imports"
)

// wireImports registers imports: templates, imports and exports through
// them, and scheduled pulls (their run job and the sweep that finds due
// ones).
//
// CALGATE_SMTP_URL (smtp://user:pass@host:587, default empty: no e-mail)
// and CALGATE_SMTP_FROM (the sender address) let a failed pull e-mail the
// addresses on it.
func (a *app) wireImports(ctx context.Context) error {
	var mailer *imports.Mailer
	if raw := env("CALGATE_SMTP_URL", ""); raw != "" {
		m, err := imports.ParseSMTPURL(raw, env("CALGATE_SMTP_FROM", "calgate@localhost"))
		if err != nil {
			return err
		}
		mailer = m
	}
	svc := imports.New(imports.Options{
		Store:        a.store,
		Client:       a.httpClient(imports.MaxFileBytes, imports.PullTimeout),
		Jobs:         a.queue,
		Sealer:       a.vault,
		AllowPrivate: a.cfg.AllowPrivateTargets,
		Mailer:       mailer,
		Notify:       a.dispatcher.Notify,
		Logger:       a.logger,
	})
	a.imports = svc
	a.queue.HandleJob(imports.PullJobType, calgate.Policy{MaxRetry: 1, Timeout: 30 * time.Minute}, svc.HandleJob)
	a.queue.Every("import-pulls-sweep", imports.SweepInterval, svc.Sweep)
	a.server.Add(a.server.ImportRoutes(svc)...)
	a.server.AddSchemas(api.ImportSchemas())
	return nil
}
