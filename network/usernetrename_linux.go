package network

// RenameMember gives containerID's member records the name newName (`skiff
// rename` of a running container: docker's embedded DNS answers the new
// name at once, and no longer the old one).
func (s *UserNetworks) RenameMember(containerID, newName string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	joined, err := s.ContainerNetworks(containerID)
	if err != nil {
		return err
	}
	for netID, m := range joined {
		m.Name = newName
		if err := s.writeMember(netID, m); err != nil {
			return err
		}
	}
	return nil
}
