DROP TABLE facet_counts; DROP TABLE search; DROP TABLE final_entities; DROP TABLE relations; DROP TABLE refresh_state_references; DROP TABLE refresh_state; DROP TABLE locations;
