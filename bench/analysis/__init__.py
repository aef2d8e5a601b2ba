"""Reading a grid: statistics, aggregation over seeds, report views and plots."""
