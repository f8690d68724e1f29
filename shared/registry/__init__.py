"""The job registry in Azure Table storage (docs/design.md §7): the entity schema (`entity`),
the client (`table`), what runs read (`reader`) and what discovery writes (`writer`)."""
