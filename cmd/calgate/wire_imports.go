package main

import (
	"context"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/imports"
)

// wireImports registers imports: templates, imports and exports through
// them, and scheduled pulls (their run job and the sweep that finds due
// ones).
//
// cfg.Imports.SMTPURL (CALGATE_SMTP_URL, default empty: no e-mail) and
// SMTPFrom (CALGATE_SMTP_FROM) let a failed pull e-mail the addresses on
// it.
func (a *app) wireImports(ctx context.Context) error {
	var mailer *imports.Mailer
	if raw := a.cfg.Imports.SMTPURL; raw != "" {
		m, err := imports.ParseSMTPURL(raw, a.cfg.Imports.SMTPFrom)
		if err != nil {
			return err
		}
		mailer = m
	}
	svc := imports.New(imports.Deps{
		Store:  a.store,
		Client: a.httpClient(imports.MaxFileBytes, imports.PullTimeout),
		Jobs:   a.queue,
		Sealer: a.vault,
		Mailer: mailer,
		Notify: a.dispatcher.Notify,
		Logger: a.logger,
	}, imports.Options{AllowPrivate: a.cfg.AllowPrivateTargets})
	a.imports = svc
	svc.Register(a.queue)
	a.server.Add(a.server.ImportRoutes(svc)...)
	a.server.AddSchemas(api.ImportSchemas())
	return nil
}
