"""A personalised home page: rows chosen and ordered per viewer, artwork chosen per viewer from
each title's own keyframes, both learning from impressions and clicks (see README, "Home page")."""
