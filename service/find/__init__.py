"""Find (issue 15): the whole population through the hook's own per-patient path, on local
processes or Apache Spark, into practice review lists and CROP-style reports."""
