-- The latest $limit run attempts, newest first: `recon runs` and the notebook's runs().
SELECT * FROM attempts ORDER BY number DESC LIMIT $limit
