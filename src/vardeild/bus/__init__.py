"""Transports for the pipeline: batches of raw records carried from the ways in to workers.

- `transport`: the `Transport` interface, its message types, and `consume`, the one
  consuming loop (ack after the handler returned, retry with backoff, dead letters).
- `memory`: the in-process implementation; `nats`: the NATS JetStream implementation.
- `codec`: a `RawBatch` as a message payload, and back.
- `worker`: the handler behind `vardeild worker` (decode, ingest through the pipeline).
- `tailer`, `spool`, `shipper`: `vardeild sensors ship` (follow EVE, buffer on disk, publish).

An adapter: it imports the monitoring domain's contract (`monitoring.ingest`), never the
reverse. See docs/scale-out.md.
"""
