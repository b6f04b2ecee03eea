-- Delivery claims: a worker takes a copy for a while (a lease), so two delivery processes never send the
-- same copy, and a worker that dies lets go of it when the lease runs out.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN claim_until REAL NOT NULL DEFAULT 0;
