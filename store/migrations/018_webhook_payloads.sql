-- An event's webhook body is the same for every endpoint it goes to, so it
-- is stored once per event here rather than once per delivery: a fan-out to
-- eight endpoints wrote the body eight times, and eight times more when
-- each delivery's state changed. Deliveries created from now on hold the
-- JSON literal null in webhook_deliveries.payload and are read with the
-- body of their event from this table; deliveries written before keep the
-- body in their own row and are read as they were.
CREATE TABLE webhook_payloads (
    event_id {{BIGINT}} PRIMARY KEY,
    payload  {{JSON}} NOT NULL
);
