package main

import "context"

// wireSubscriptions registers iCal subscriptions (external calendars pulled in).
func (a *app) wireSubscriptions(ctx context.Context) error {
	return nil
}
