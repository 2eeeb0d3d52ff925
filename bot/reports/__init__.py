"""Reports for managers: KPI figures as a terminal table, CSV, Slack blocks and a weekly chart."""
