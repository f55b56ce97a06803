-- Cluster membership (like Orleans' membership table): one row per node id. A node registers
-- with a new incarnation as `joining` (linked by the others, owning nothing yet), becomes
-- `alive` once it is linked to every live member, heartbeats, and is declared dead by any other node once its
-- heartbeat is older than cluster.failure_timeout_ms. Grain writes are fenced on their
-- node's row: a node whose row is not `alive` with its incarnation cannot commit.
CREATE TABLE IF NOT EXISTS cluster_members (
  node_id       text        PRIMARY KEY,
  incarnation   bigint      NOT NULL,
  host          text        NOT NULL,
  http_port     integer     NOT NULL,
  cluster_port  integer     NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  status        text        NOT NULL CHECK (status IN ('joining', 'alive', 'left', 'dead')),
  activations   integer     NOT NULL DEFAULT 0 -- grains active on it, as of its last heartbeat
);
