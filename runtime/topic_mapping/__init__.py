"""The topic-mapping protocol between layers: where documents live, how a mapping is computed,
written once and answered, and how a person reviews a proposal. Shared by the mapping Lambda
and `mapping-review`."""
