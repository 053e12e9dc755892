"""Registry services: transactional writes, derived data, analyses of stored records."""
