"""The kopf operator: watches Scenario, Submission and Job resources and the batch Jobs and pods running them.

Handlers stay thin: kopf indexes cache what the watches deliver (``records``), a per-scenario work queue
(``reconciler``) turns a snapshot into ``taipod.core.plan`` decisions and writes them back as status patches.
"""
