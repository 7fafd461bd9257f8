-- One next-customer claim in bare SQL: what customer_present_next asks of PostgreSQL when it
-- presents an available customer, without the Django around it. pgbench runs it per client;
-- :first_user and :campaign come from `pgbench -D`, :client_id is pgbench's own (0, 1, …).
\set uid :first_user + :client_id
BEGIN;
-- Asking for the next customer lets go of the current one (DESIGN.md rule 1) …
WITH released AS (
    UPDATE handling_placement
       SET holder_id = NULL, selected_at = NULL, lease_expires_at = NULL
     WHERE holder_id = :uid
    RETURNING customer_id
)
SELECT coalesce(max(customer_id), 0) AS previous FROM released
\gset
-- … and takes the first free one by segment priority and waiting time, skipping rows that
-- other clients are claiming right now, and skipping the one just let go.
WITH next AS (
    SELECT p.customer_id
      FROM handling_placement p
      JOIN crm_customer c ON c.id = p.customer_id
      JOIN flows_state s ON s.id = p.state_id
      LEFT JOIN campaigns_segment g ON g.id = p.segment_id
     WHERE p.campaign_id = :campaign
       AND NOT p.is_final
       AND p.correction_id IS NULL
       AND NOT c.is_blocked
       AND p.follow_up_at IS NULL
       AND s.kind = 'available'
       AND (p.holder_id IS NULL OR p.lease_expires_at <= now())
       AND p.customer_id <> :previous
     ORDER BY g.priority NULLS LAST, p.waiting_since, p.customer_id
     LIMIT 1
       FOR UPDATE OF p SKIP LOCKED
)
UPDATE handling_placement p
   SET holder_id = :uid,
       selected_at = now(),
       lease_expires_at = now() + interval '120 seconds',
       lease_token = p.lease_token + 1,
       version = p.version + 1
  FROM next
 WHERE p.customer_id = next.customer_id;
END;
