"""The reviewer's workbench: a web page for the data team's stewards to settle the pairs the linkage could not
(the queue by impact, a pair side by side, a cluster and why it holds together), with decisions stored in the
lake and applied by the next linkage. Signed-in operators only; see ``app.create_app``."""
