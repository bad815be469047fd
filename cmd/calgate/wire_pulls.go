package main

import (
	"context"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/imports"
	"github.com/calgate/calgate/imports/pull"
	"github.com/calgate/calgate/mail"
)

// wirePulls registers scheduled pulls (their run job and the sweep that
// finds due ones) over the imports a.imports runs.
//
// cfg.Imports.SMTPURL (CALGATE_SMTP_URL, default empty: no e-mail) and
// SMTPFrom (CALGATE_SMTP_FROM) let a failed pull e-mail the addresses on
// it.
func (a *app) wirePulls(ctx context.Context) error {
	d := pull.Deps{
		Store:    a.store,
		Importer: a.imports,
		Client:   a.httpClient(imports.MaxFileBytes, pull.Timeout),
		Jobs:     a.queue,
		Sealer:   a.vault,
		Notify:   a.dispatcher.Notify,
		Logger:   a.logger,
	}
	if raw := a.cfg.Imports.SMTPURL; raw != "" {
		m, err := mail.ParseSMTPURL(raw, a.cfg.Imports.SMTPFrom)
		if err != nil {
			return err
		}
		d.Mailer = m
	}
	svc := pull.New(d, pull.Options{AllowPrivate: a.cfg.AllowPrivateTargets})
	a.parts.pulls = svc
	svc.Register(a.queue)
	a.server.Add(a.server.PullRoutes(svc)...)
	a.server.AddSchemas(api.PullSchemas())
	return nil
}
