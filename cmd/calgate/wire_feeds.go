package main

import "context"

// wireFeeds registers the feeds capability.
func (a *app) wireFeeds(ctx context.Context) error {
	return nil
}
